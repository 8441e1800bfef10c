import { options, render } from 'preact';
import { App } from './app';
import './styles.css';

// For the browser tests only, when asked for (localStorage `tickets.countRenders`): count every
// component render, so a test can tell that a status update re-renders no component at all
// (signals update their text nodes and attributes directly).
if (localStorage.getItem('tickets.countRenders')) {
  const counted = window as unknown as { __componentRenders: number };
  counted.__componentRenders = 0;
  const next = options.diffed;
  options.diffed = (vnode) => {
    if (typeof vnode.type === 'function') counted.__componentRenders += 1;
    next?.(vnode);
  };
}

render(<App />, document.getElementById('app')!);
