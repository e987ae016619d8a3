import { maskNomesInText } from '@recon/rules';
import type { Notification } from './messages.ts';

/** Every text of a notification through `maskNomesInText` (links' URLs too). */
export function maskNotification(n: Notification): Notification {
  const m = maskNomesInText;
  return {
    ...n,
    title: m(n.title),
    text: m(n.text),
    fields: n.fields.map((f) => ({ label: m(f.label), value: m(f.value) })),
    sections: n.sections.map((s) => ({ heading: m(s.heading), lines: s.lines.map(m) })),
    links: n.links.map((l) => ({ label: m(l.label), url: m(l.url) })),
  };
}

export { maskNomesInText };
