import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import type { ThroughputResponse } from '../../../../core/job/monitor-contract.ts';
import { ApiError, getJson } from '../api.ts';
import { plural } from '../format.ts';

/** Finished work changes by the minute; a quarter of one keeps the newest minute current. */
const REFRESH_MS = 15_000;
const HEIGHT = 180;

type Minutes = ThroughputResponse['minutes'];

/** uPlot draws on a canvas, which CSS cannot colour: the colours come from the style sheet. */
function cssColor(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function chartData(minutes: Minutes): uPlot.AlignedData {
  return [
    minutes.map((m) => m.at / 1000),
    minutes.map((m) => m.proxies),
    minutes.map((m) => Math.round((m.frames / 60) * 10) / 10),
  ];
}

/**
 * The chart library is most of the page's script; loaded once the first figures are in, so
 * the batches show without waiting for it.
 */
const loadChart = () => import('uplot').then((m) => m.default);

function chartOptions(Plot: typeof uPlot, width: number): uPlot.Options {
  const text = cssColor('--muted', '#777');
  const grid = cssColor('--line', '#ddd');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    // The legend names the series; values under the pointer would only show the minute's.
    legend: { live: false },
    scales: { x: { time: true }, proxies: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [
      {},
      {
        label: 'proxies / min',
        scale: 'proxies',
        stroke: cssColor('--chart-proxies', '#2f7d4f'),
        fill: cssColor('--chart-proxies-fill', 'rgba(47,125,79,0.35)'),
        paths: Plot.paths.bars!({ size: [0.7, 40] }),
        points: { show: false },
      },
      {
        label: 'frames / s',
        scale: 'fps',
        stroke: cssColor('--chart-fps', '#2f62c4'),
        width: 2,
        points: { show: false },
      },
    ],
    axes: [
      axis,
      { ...axis, scale: 'proxies', size: 40 },
      { ...axis, scale: 'fps', side: 1, size: 50, grid: { show: false } },
    ],
  };
}

/** Proxies per minute and encoded frames per second over the last hour. */
export function Throughput() {
  const [minutes, setMinutes] = useState<Minutes | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [failed, setFailed] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const r = await getJson<ThroughputResponse>('/v1/throughput?minutes=60');
        if (!stopped) {
          setMinutes(r.minutes);
          setError(null);
        }
      } catch (err) {
        if (!stopped && err instanceof ApiError) setError(err);
      }
    };
    void load();
    const timer = window.setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el || !minutes) return;
    if (chart.current) {
      chart.current.setData(chartData(minutes));
      return;
    }
    let stale = false;
    loadChart().then(
      (Plot) => {
        if (stale || chart.current) return;
        chart.current = new Plot(chartOptions(Plot, el.clientWidth), chartData(minutes), el);
      },
      () => setFailed(true),
    );
    return () => {
      stale = true;
    };
  }, [minutes]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const resize = new ResizeObserver(() => {
      chart.current?.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  const proxies = minutes?.reduce((n, m) => n + m.proxies, 0) ?? 0;
  const frames = minutes?.reduce((n, m) => n + m.frames, 0) ?? 0;
  return (
    <section class="panel" aria-labelledby="throughput-h">
      <h2 id="throughput-h">Throughput, last hour</h2>
      {error && (
        <p class="muted">
          {error.status === 404 ? 'This gateway keeps no throughput figures.' : error.message}
        </p>
      )}
      {minutes && (
        <p class="muted throughput-sum">
          {plural(proxies, 'proxy', 'proxies')} written and {plural(frames, 'frame')} encoded in the
          hour
        </p>
      )}
      {failed && <p class="muted">The chart could not be loaded: reload the page.</p>}
      <div ref={box} class="chart" />
    </section>
  );
}
