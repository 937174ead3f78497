import { useEffect, useState } from 'preact/hooks';
import type { BatchView, HealthResponse, JobError } from '../../../../core/job/contract.ts';
import type { MonitorOverview } from '../../../../core/job/monitor-contract.ts';
import { ApiError, getJson, readSession, signOut, whenSignedOut } from '../api.ts';
import { followLive, type BatchQuery, type LiveState } from '../live.ts';
import { ActContext, type Act, type Notice } from '../notice.ts';
import { PAGE_SIZE, parseRoute, routeHash, type Route } from '../route.ts';
import { Autoscale } from './autoscale.tsx';
import { BatchDetail } from './batch-view.tsx';
import { BatchList } from './batch-list.tsx';
import { Header } from './header.tsx';
import { Login } from './login.tsx';
import { QueuePanel } from './queue-panel.tsx';
import { SearchView } from './search-view.tsx';
import { Throughput } from './throughput.tsx';
import { workerName, Workers } from './workers.tsx';

type Auth = 'checking' | 'signin' | 'in' | 'down';

/** A gateway that does not answer is asked again this often until it does. */
const DOWN_RETRY_MS = 2000;
/** A success line stays this long; an error stays until the next action or a close. */
const NOTICE_MS = 8000;

function batchQuery(route: Route): BatchQuery | null {
  if (route.view !== 'batch') return null;
  return { id: route.id, offset: route.offset, limit: PAGE_SIZE, state: route.state, q: route.q };
}

/**
 * The page: signs in when the gateway asks for it, then follows the monitor's event stream
 * (the overview, plus the open batch's page) and shows the view the URL's fragment names.
 */
export function App() {
  const [auth, setAuth] = useState<Auth>('checking');
  const [tokenRequired, setTokenRequired] = useState(false);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  const [overview, setOverview] = useState<MonitorOverview | null>(null);
  const [batch, setBatch] = useState<BatchView | null>(null);
  const [batchError, setBatchError] = useState<JobError | null>(null);
  /** The farm could not be read a moment ago (Redis away): what is shown may be stale. */
  const [farmError, setFarmError] = useState<JobError | null>(null);
  const [live, setLive] = useState<LiveState>('connecting');
  const [notice, setNotice] = useState<Notice | null>(null);
  const [health, setHealth] = useState<HealthResponse | null>(null);

  const checkSession = async (): Promise<boolean> => {
    try {
      const s = await readSession();
      if (!s) {
        setAuth('signin');
        return false;
      }
      setTokenRequired(s.tokenRequired);
      setAuth('in');
      return true;
    } catch {
      setAuth((a) => (a === 'in' ? a : 'down'));
      return true;
    }
  };

  useEffect(() => {
    whenSignedOut(() => setAuth('signin'));
    void checkSession();
    const onHash = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (auth !== 'down') return;
    const timer = window.setTimeout(checkSession, DOWN_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [auth]);

  useEffect(() => {
    if (auth !== 'in') return;
    getJson<HealthResponse>('/v1/health').then(setHealth, () => {});
  }, [auth]);

  const query = batchQuery(route);
  const streamKey = query ? JSON.stringify(query) : '';
  useEffect(() => {
    if (auth !== 'in') return;
    // Rows of another page or filter must not stand under this one's heading meanwhile.
    setBatch(null);
    setBatchError(null);
    return followLive(query, {
      overview: (o) => {
        setOverview(o);
        setFarmError(null);
      },
      batch: (b) => {
        setBatch(b);
        setBatchError(null);
      },
      streamError: (e) => (query && e.code === 'NOT_FOUND' ? setBatchError(e) : setFarmError(e)),
      state: setLive,
      stillSignedIn: checkSession,
    });
  }, [auth, streamKey]);

  useEffect(() => {
    if (notice?.kind !== 'ok') return;
    const timer = window.setTimeout(() => setNotice(null), NOTICE_MS);
    return () => window.clearTimeout(timer);
  }, [notice]);

  const go = (next: Route, replace = false) => {
    const hash = routeHash(next);
    if (replace) location.replace(hash);
    else location.hash = hash;
  };

  const act: Act = async (action) => {
    try {
      setNotice({ kind: 'ok', text: await action() });
      return true;
    } catch (err) {
      const e = err instanceof ApiError ? err : null;
      setNotice({ kind: 'error', text: e?.message ?? String(err), hint: e?.hint });
      return false;
    }
  };

  if (auth === 'checking') return <main class="panel muted">Connecting to the gateway…</main>;
  if (auth === 'signin') return <Login onSignedIn={checkSession} />;
  if (auth === 'down') {
    return (
      <main class="panel">
        <p role="alert">
          The gateway does not answer. <span class="hint">Trying again every few seconds.</span>
        </p>
      </main>
    );
  }

  // The gateway's clock, so elapsed times do not drift with this machine's.
  const now = overview?.at ?? Date.now();
  const workers = { byJob: new Map<string, string>(), byId: new Map<string, string>() };
  for (const w of overview?.workers ?? []) {
    workers.byId.set(w.id, workerName(w));
    for (const j of w.current) workers.byJob.set(j.jobId, workerName(w));
  }

  return (
    <ActContext.Provider value={act}>
      <Header
        live={live}
        counts={overview?.counts ?? null}
        query={route.view === 'search' ? route.q : ''}
        onSearch={(q) => go({ view: 'search', q })}
        onSignOut={
          tokenRequired
            ? () => {
                void signOut().finally(() => setAuth('signin'));
              }
            : null
        }
      />
      {farmError && (
        <div class="notice notice-error" role="alert">
          <span>{farmError.message}; what is shown may be out of date.</span>
          <span class="hint">{farmError.hint}</span>
        </div>
      )}
      {notice && (
        <div
          class={`notice notice-${notice.kind}`}
          role={notice.kind === 'error' ? 'alert' : 'status'}
        >
          <span>{notice.text}</span>
          {notice.hint && <span class="hint">{notice.hint}</span>}
          <button type="button" class="quiet" aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      {route.view === 'batch' && (
        <BatchDetail
          route={route}
          batch={batch}
          error={batchError}
          workers={workers}
          now={now}
          go={go}
        />
      )}
      {route.view === 'search' && <SearchView q={route.q} />}
      {route.view === 'overview' && (
        <main class="overview">
          <div class="col-batches">
            {overview ? (
              <BatchList batches={overview.batches} now={now} />
            ) : (
              <section class="panel muted">Waiting for the first update…</section>
            )}
            <Throughput />
          </div>
          <div class="col-farm">
            {overview && <QueuePanel counts={overview.counts} />}
            {overview && (
              <Workers workers={overview.workers} now={now} protocol={health?.protocol ?? null} />
            )}
            {overview?.autoscale && <Autoscale autoscale={overview.autoscale} now={now} />}
          </div>
        </main>
      )}
      {health && (
        <footer class="muted">
          gateway v{health.version}, protocol {health.protocol}
        </footer>
      )}
    </ActContext.Provider>
  );
}
