/**
 * Syslog transport: RFC 5424 messages over UDP (RFC 5426), TCP with octet-counting framing (RFC 6587 §3.4.1) and
 * TLS (RFC 5425: octet-counted frames, server certificate verified against the system roots or `--sink-ca`, optional
 * client certificate).
 *
 * Acknowledgement. Syslog over TCP/TLS has no application-level ack. A batch therefore counts as delivered only
 * when, after our last byte and our FIN (TLS close_notify + FIN), the receiver closes its side in order: it read
 * everything we sent. A receiver that dies with our bytes unread resets the connection (RST), the batch fails and is
 * re-sent whole; the receiver may then see some events twice, which the event id (CEF `externalId`, JSON `id`)
 * deduplicates. UDP cannot be acknowledged at all (RFC 5426 §3.6): a datagram handed to the kernel counts as sent.
 * @module
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Severity } from '../model.js';
import { VERSION } from '../version.js';
import type { EventFormat, SinkEvent } from '../report/event.js';
import { eventText } from '../report/event-format.js';
import type { SpooledEvent } from './spool.js';
import { ALL_DELIVERED, type BatchResult, type SinkTransport, TransientSinkError } from './transport.js';

/** RFC 5424 §6.2.1: facility 10 = security/authorization messages. */
const FACILITY = 10;
/** Severity: 2 critical, 3 error, 4 warning, 5 notice, 6 informational. */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, none: 6 };
/** Largest UDP payload over IPv4 (65535 − 8 − 20); RFC 5426 §3.2 lets receivers truncate beyond what they support. */
const MAX_UDP_MESSAGE = 65_507;
const IO_TIMEOUT_MS = 30_000;
/**
 * On the first batch of a delivery (and after any failure), wait this long after the last byte left before
 * half-closing, so that a receiver refusing us (a client certificate it does not accept) is seen as a failure rather
 * than as an orderly close. Later batches reuse the same credentials and skip the wait (ms).
 */
const FIRST_BATCH_GRACE_MS = 200;

export type SyslogProtocol = 'udp' | 'tcp' | 'tls';

export interface SyslogOptions {
  protocol: SyslogProtocol;
  host: string;
  port: number;
  format: EventFormat;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  label: string;
  closeGraceMs?: number;
}

/** RFC 5424 §6: HOSTNAME is 1–255 PRINTUSASCII; anything else becomes '-'. */
function syslogHostname(): string {
  const h = hostname().replace(/[^\x21-\x7e]/g, '');
  return h ? h.slice(0, 255) : '-';
}

const HOST = syslogHostname();
const PROCID = String(process.pid);

/**
 * RFC 5424 §6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG. The SD element is the IANA
 * registered `origin` (§7.2) naming the software. MSG is sent without a BOM: CEF consumers do not expect one.
 */
export function toSyslog(e: SinkEvent, format: EventFormat): string {
  const pri = FACILITY * 8 + SYSLOG_SEVERITY[e.exposure.severity];
  const t = new Date(Date.parse(e.time));
  const timestamp = Number.isNaN(t.getTime()) ? '-' : t.toISOString();
  return `<${pri}>1 ${timestamp} ${HOST} shelflife ${PROCID} ${e.type} [origin software="shelflife" swVersion="${VERSION}"] ${eventText(e, format)}`;
}

/** RFC 6587 §3.4.1 octet counting: MSG-LEN SP SYSLOG-MSG, the length in octets. */
export function octetFrame(msg: string): string {
  return `${Buffer.byteLength(msg)} ${msg}`;
}

export class SyslogTransport implements SinkTransport {
  readonly maxBatchEvents: number;
  readonly maxBatchBytes = 2 * 1024 * 1024;
  /** Two connections in flight hide the per-batch round trip (connect, TLS handshake, orderly close). */
  readonly parallelBatches: number;
  private readonly tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** The receiver has accepted a batch from us: our credentials are good, later batches need no grace period. */
  private accepted = false;

  constructor(private readonly o: SyslogOptions) {
    this.maxBatchEvents = o.protocol === 'udp' ? 500 : 2000;
    this.parallelBatches = o.protocol === 'udp' ? 1 : 2;
    if (o.protocol === 'tls') {
      this.tls = {
        ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
        ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
        ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
      };
    }
  }

  get label(): string {
    return this.o.label;
  }

  async send(batch: SpooledEvent[]): Promise<BatchResult> {
    if (this.o.protocol === 'udp') return this.sendUdp(batch);
    await this.streamBatch(batch.map((b) => octetFrame(toSyslog(b.event, this.o.format))).join(''));
    return ALL_DELIVERED;
  }

  private async sendUdp(batch: SpooledEvent[]): Promise<BatchResult> {
    const sock = createSocket(isIP(this.o.host) === 6 ? 'udp6' : 'udp4');
    const rejected: BatchResult['rejected'] = [];
    try {
      for (let i = 0; i < batch.length; i++) {
        const msg = Buffer.from(toSyslog(batch[i].event, this.o.format));
        if (msg.length > MAX_UDP_MESSAGE) {
          rejected.push({ index: i, reason: `message of ${msg.length} bytes exceeds the UDP maximum of ${MAX_UDP_MESSAGE}` });
          continue;
        }
        await new Promise<void>((resolve, reject) =>
          sock.send(msg, this.o.port, this.o.host, (err) => (err ? reject(new TransientSinkError(err.message, { uri: this.label })) : resolve())),
        );
      }
    } finally {
      sock.close();
    }
    return rejected.length ? { retry: [], rejected } : ALL_DELIVERED;
  }

  /**
   * One connection per batch: connect, write, wait until the bytes left our socket plus a short grace period, then
   * half-close and wait for the receiver's orderly close. A receiver that closes on its own before our FIN (rsyslog
   * does this after reading, when it rejects a client certificate) has not accepted the batch.
   */
  private async streamBatch(payload: string): Promise<void> {
    try {
      await this.streamOnce(payload);
      this.accepted = true;
    } catch (e) {
      this.accepted = false;
      throw e;
    }
  }

  private streamOnce(payload: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let weEnded = false;
      let sawEnd = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new TransientSinkError(why, { uri: this.label }));
      };
      const onReady = () => {
        socket.write(payload, (err) => {
          if (err) return fail(err.message);
          setTimeout(
            () => {
              if (settled || sawEnd) return;
              weEnded = true;
              socket.end();
            },
            this.accepted ? 0 : (this.o.closeGraceMs ?? FIRST_BATCH_GRACE_MS),
          );
        });
      };
      const { host, port } = this.o;
      const socket: Socket =
        this.o.protocol === 'tls'
          ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...this.tls, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, onReady)
          : netConnect({ host, port }, onReady);
      socket.setTimeout(IO_TIMEOUT_MS, () => fail(`no answer within ${IO_TIMEOUT_MS / 1000} s`));
      socket.on('error', (e: Error) => fail(e.message));
      socket.on('data', () => {
        /* syslog receivers send nothing; drain anyway so their FIN is seen */
      });
      socket.on('end', () => {
        sawEnd = true;
        if (!weEnded) fail('the receiver closed the connection before the batch was complete (client certificate refused, or the receiver is shutting down)');
      });
      socket.on('close', (hadError: boolean) => {
        if (settled) return;
        if (hadError || !sawEnd) return fail('connection closed before the receiver finished reading');
        settled = true;
        resolve();
      });
    });
  }

  async close(): Promise<void> {}
}
