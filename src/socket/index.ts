// 'docket/socket': the beanstalkd-protocol server and client. An explicit list, no `export *`.

export { serve, SocketServer } from './server/server.js';
export type { ServeOptions } from './server/server.js';

// The client.
export { connect, RemoteQueue, RemoteJob, ConnectionError, ProtocolError } from './client/remote-queue.js';
export type {
  AddedJob,
  ConnectOptions,
  PeekedJob,
  ReconnectPolicy,
  RemoteAddOptions,
  RemoteHandler,
  RemoteJobStats,
  RemoteQueueEvents,
  RemoteQueueStats,
  RemoteReleaseOptions,
} from './client/remote-queue.js';
