import type { ComponentChildren } from 'preact';
import { inWords } from '../api/problems';

/** The screen's heading; focusable so that a new screen can take focus there. */
export function Title({ children }: { children: ComponentChildren }) {
  return <h1 tabIndex={-1}>{children}</h1>;
}

/** A problem in words (never a raw code), announced to screen readers. */
export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" class="error">
      {inWords(error)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}
