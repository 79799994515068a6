/**
 * sample-app: Cars in a plain folder, one file per Car (`<data-dir>/Car/<namespace>/<name>/metadata.yaml`),
 * served on localhost:8888 as the Go libgitops sample-app:
 *
 *   GET  /plain/<name>   the Car, as JSON
 *   POST /plain/<name>   creates the Car in namespace default, with a random brand
 *   PUT  /plain/<name>   sets a random status.distance and status.speed (a one-line edit each)
 *
 *   node --import tsx examples/sample-app/main.ts [--data-dir /tmp/libgitops/manifest] [--port 8888]
 */
import { openStorage } from '../../src/storage/index.js';
import { carScheme } from '../car/car-scheme.js';
import { carKey } from '../car/car-types.js';
import type { CarV1alpha1 } from '../car/car-types.js';
import { newCar, randomMotion } from '../car/random-car.js';
import { parseFlags } from '../shared/sample-flags.js';
import { createSampleServer, serve } from '../shared/sample-server.js';

const USAGE = `usage: node --import tsx examples/sample-app/main.ts [--data-dir DIR] [--port 8888] [--host 127.0.0.1]`;

const flags = parseFlags({ 'data-dir': { type: 'string', default: '/tmp/libgitops/manifest' } }, USAGE);
const storage = await openStorage({
  root: flags.required('data-dir'),
  layout: 'kind-namespace-name',
  scheme: carScheme(),
  watch: false,
});
const app = createSampleServer();
app.log.info({ dataDir: storage.root, cars: await storage.count({ kind: 'Car' }) }, 'storage opened');

app.get<{ Params: { name: string } }>('/plain/:name', async (request) =>
  storage.get(carKey(request.params.name)),
);

app.post<{ Params: { name: string } }>('/plain/:name', async (request, reply) => {
  const car = await storage.create(newCar(request.params.name));
  request.log.info({ car: car.metadata.name }, 'created');
  return reply.status(201).send(car);
});

app.put<{ Params: { name: string } }>('/plain/:name', async (request) => {
  const car = await storage.get<CarV1alpha1>(carKey(request.params.name));
  car.status = randomMotion(car.status);
  const updated = await storage.update(car);
  request.log.info({ car: car.metadata.name, status: car.status }, 'updated');
  return updated;
});

await serve(app, { host: flags.required('host'), port: flags.port() }, [storage]);
