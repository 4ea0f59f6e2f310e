import { Component, type FunctionComponent, type VNode } from 'preact';

/**
 * A component that renders again only when a prop changed (shallow), as preact/compat's memo
 * does, without pulling compat into the bundle: a row whose class did not change costs nothing.
 */
export function memo<P extends object>(render: (props: P) => VNode | null): FunctionComponent<P> {
  class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const prev = this.props as Record<string, unknown>;
      const now = next as Record<string, unknown>;
      for (const k in now) if (prev[k] !== now[k]) return true;
      for (const k in prev) if (!(k in now)) return true;
      return false;
    }
    override render(props: P) {
      return render(props);
    }
  }
  return Memo as unknown as FunctionComponent<P>;
}
