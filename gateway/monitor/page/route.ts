/**
 * Where the page is, kept in the URL's fragment so reloads, the back button and shared links
 * work without the gateway knowing any page route. Nothing secret ever goes here. Pure.
 */

export const PAGE_SIZE = 100;
export const FILTER_STATES = ['waiting', 'active', 'completed', 'failed', 'unknown'] as const;

export type Route =
  | { view: 'overview' }
  | { view: 'batch'; id: string; state?: string; q?: string; offset: number }
  | { view: 'search'; q: string };

const BATCH_ID = /^b-[a-z0-9]+-[0-9a-f]{8}$/;

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'batch' && parts[1] !== undefined && BATCH_ID.test(parts[1])) {
    const state = params.get('state') ?? undefined;
    const offset = Number(params.get('offset') ?? 0);
    return {
      view: 'batch',
      id: parts[1],
      ...(state && (FILTER_STATES as readonly string[]).includes(state) && { state }),
      ...(params.get('q') && { q: params.get('q')! }),
      offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
    };
  }
  if (parts[0] === 'search') return { view: 'search', q: params.get('q') ?? '' };
  return { view: 'overview' };
}

export function routeHash(route: Route): string {
  if (route.view === 'overview') return '#/';
  if (route.view === 'search') return `#/search?${new URLSearchParams({ q: route.q })}`;
  const params = new URLSearchParams();
  if (route.state) params.set('state', route.state);
  if (route.q) params.set('q', route.q);
  if (route.offset > 0) params.set('offset', String(route.offset));
  const query = params.toString();
  return `#/batch/${route.id}${query ? `?${query}` : ''}`;
}
