/** ARIA tabs: a tablist of links (each tab has its own URL), arrow keys move between them, Home/End to the ends. */
import type { ComponentChildren } from 'preact';

export interface TabsProps {
  label: string;
  tabs: { id: string; label: string; href: string }[];
  current: string;
  children: ComponentChildren;
}

export function Tabs({ label, tabs, current, children }: TabsProps) {
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((tab) => tab.id === current);
    const next =
      event.key === 'ArrowRight'
        ? (index + 1) % tabs.length
        : event.key === 'ArrowLeft'
          ? (index - 1 + tabs.length) % tabs.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? tabs.length - 1
              : -1;
    if (next < 0) return;
    event.preventDefault();
    const target = tabs[next];
    if (target === undefined) return;
    location.hash = target.href;
    requestAnimationFrame(() => document.getElementById(`tab-${target.id}`)?.focus());
  };
  return (
    <>
      <div role="tablist" aria-label={label} class="tabs" onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <a
            key={tab.id}
            id={`tab-${tab.id}`}
            role="tab"
            href={tab.href}
            aria-selected={tab.id === current}
            aria-controls={`panel-${tab.id}`}
            tabIndex={tab.id === current ? 0 : -1}
          >
            {tab.label}
          </a>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current}`} aria-labelledby={`tab-${current}`} class="panel">
        {children}
      </div>
    </>
  );
}
