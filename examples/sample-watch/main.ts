/**
 * sample-watch: a folder of manifests of any shape, watched; every change made by anyone (an
 * editor, `cp`, `git checkout`) is logged as an event with its object. As the Go libgitops
 * sample-watch, on localhost:8888:
 *
 *   GET /watch/<name>   the Car (namespace default), as JSON
 *   PUT /watch/<name>   sets a random status.distance and status.speed, which is logged as an event too
 *
 *   node --import tsx examples/sample-watch/main.ts [--watch-dir /tmp/libgitops/watch] [--port 8888]
 */
import { openStorage } from '../../src/storage/index.js';
import { carScheme } from '../car/car-scheme.js';
import { carKey } from '../car/car-types.js';
import type { CarV1alpha1 } from '../car/car-types.js';
import { randomMotion } from '../car/random-car.js';
import { parseFlags } from '../shared/sample-flags.js';
import { createSampleServer, serve } from '../shared/sample-server.js';

const USAGE = `usage: node --import tsx examples/sample-watch/main.ts [--watch-dir DIR] [--port 8888] [--host 127.0.0.1]`;

const flags = parseFlags({ 'watch-dir': { type: 'string', default: '/tmp/libgitops/watch' } }, USAGE);
const app = createSampleServer();
const storage = await openStorage({ root: flags.required('watch-dir'), scheme: carScheme() });
storage.on((event) => {
  if (event.type === 'ERROR') {
    app.log.warn({ event: 'ERROR', file: event.path, code: event.error.code }, event.error.format());
    return;
  }
  const { kind, metadata } = event.object;
  app.log.info(
    {
      event: event.type,
      kind,
      namespace: metadata.namespace,
      name: metadata.name,
      file: event.path,
      origin: event.origin,
    },
    `${event.type} ${kind} ${metadata.namespace ?? ''}/${metadata.name}`,
  );
});
app.log.info({ watchDir: storage.root, objects: storage.size }, 'watching');

app.get<{ Params: { name: string } }>('/watch/:name', async (request) =>
  storage.get(carKey(request.params.name)),
);

app.put<{ Params: { name: string } }>('/watch/:name', async (request) => {
  const car = await storage.get<CarV1alpha1>(carKey(request.params.name));
  car.status = randomMotion(car.status);
  return storage.update(car);
});

await serve(app, { host: flags.required('host'), port: flags.port() }, [storage]);
