/**
 * One event in one of the event formats (`--sink-format`): what a sink puts on the wire as the event itself. The
 * transports add only their own framing around it (RFC 5424 header and octet counting, the HEC envelope, the
 * Elasticsearch bulk action line).
 * @module
 */
import { toCef } from './cef.js';
import type { EventFormat, SinkEvent } from './event.js';
import { toOcsf, type OcsfComplianceFinding } from './ocsf.js';
import { safeJson } from './text.js';

/** The event as a value for a JSON envelope: CEF text, an OCSF Compliance Finding, or the event model itself. */
export function encodeEvent(e: SinkEvent, format: EventFormat): string | OcsfComplianceFinding | SinkEvent {
  if (format === 'cef') return toCef(e);
  return format === 'ocsf' ? toOcsf(e) : e;
}

/**
 * The event as one line of text (a syslog MSG): CEF, or OCSF / the event model as JSON with every control, bidi and
 * line-separator character escaped (safeJson), so a receiver or a console showing the message sees no raw one.
 */
export function eventText(e: SinkEvent, format: EventFormat): string {
  const v = encodeEvent(e, format);
  return typeof v === 'string' ? v : safeJson(v);
}
