/**
 * BullMQ's classes built for one queue connection (PostgreSQL or Redis backend). Private to src/queue/.
 * @module
 */
import { FlowProducer, Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { QueueConnection } from './connection.js';

export function openQueue(c: QueueConnection): Queue {
  return new Queue(c.name, { connection: c.connection as never }, c.factory as never);
}

export function openFlowProducer(c: QueueConnection): FlowProducer {
  return new FlowProducer({ connection: c.connection as never }, c.factory as never);
}

export function openWorker(c: QueueConnection, processor: Processor, options: Omit<WorkerOptions, 'connection'>): Worker {
  return new Worker(c.name, processor, { ...options, connection: c.connection as never }, c.factory as never);
}
