import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** What the last action did, shown in one status line; an error with its hint. */
export interface Notice {
  kind: 'ok' | 'error';
  text: string;
  hint?: string;
}

/**
 * Runs a write the user asked for and reports it: `act` resolves to the line to show, or its
 * ApiError's message and hint are shown. Given by the app to every view through context, so
 * views need not pass it down.
 */
export type Act = (action: () => Promise<string>) => Promise<boolean>;

export const ActContext = createContext<Act>(async () => false);

export const useAct = (): Act => useContext(ActContext);
