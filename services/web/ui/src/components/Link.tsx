import type { MouseEvent, ReactNode } from 'react';
import { useApp } from '../state';

/** An in-app link: a real href (open in a new tab works), navigation without a reload. */
export function Link(props: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  const { navigate } = useApp();
  const onClick = (event: MouseEvent) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} className={props.className} aria-current={props.current ? 'page' : undefined} onClick={onClick}>
      {props.children}
    </a>
  );
}
