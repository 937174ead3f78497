import { useEffect, useState } from 'preact/hooks';
import type { SearchResponse } from '../../../../core/job/monitor-contract.ts';
import { ApiError, getJson } from '../api.ts';
import { baseName, folderOf, jobPercent } from '../format.ts';
import { routeHash } from '../route.ts';
import { JobBar } from './bar.tsx';

const LIMIT = 50;

/** Clips whose source or proxy path holds the text, across the recent batches. */
export function SearchView(props: { q: string }) {
  const [found, setFound] = useState<SearchResponse | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    let stale = false;
    setFound(null);
    setError(null);
    const q = new URLSearchParams({ q: props.q, limit: String(LIMIT) });
    getJson<SearchResponse>(`/v1/search?${q}`).then(
      (r) => !stale && setFound(r),
      (err: unknown) => !stale && err instanceof ApiError && setError(err),
    );
    return () => {
      stale = true;
    };
  }, [props.q]);

  return (
    <main class="panel" aria-labelledby="search-h">
      <a href={routeHash({ view: 'overview' })} class="back">
        ← Batches
      </a>
      <h1 id="search-h">Clips matching “{props.q}”</h1>
      {error && (
        <p class="error" role="alert">
          {error.message} <span class="hint">{error.hint}</span>
        </p>
      )}
      {!found && !error && <p class="muted">Searching…</p>}
      {found && found.jobs.length === 0 && (
        <p class="muted">No clip of the recent batches matches.</p>
      )}
      {found && found.jobs.length > 0 && (
        <ul class="search-results">
          {found.jobs.map(({ batchId, batchLabel, job }) => {
            const name = baseName(job.source);
            return (
              <li key={`${batchId}/${job.id}`}>
                <a href={routeHash({ view: 'batch', id: batchId, q: name, offset: 0 })}>
                  <strong>{name}</strong>
                  <span class="muted"> {folderOf(job.source)}</span>
                </a>
                <span class="muted"> in {batchLabel ?? batchId}</span>
                <JobBar pct={jobPercent(job)} state={job.state} label={`${name} progress`} />
              </li>
            );
          })}
        </ul>
      )}
      {found?.more && <p class="muted">More clips match: type more of the name.</p>}
    </main>
  );
}
