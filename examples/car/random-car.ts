/**
 * The random values the Go samples write: a brand for a new Car, and a new distance and speed
 * for a "reconciler status write".
 */
import { CAR_GROUP } from './car-types.js';
import type { CarStatus, CarV1alpha1 } from './car-types.js';

const BRANDS = ['SAAB', 'Volvo', 'Tesla', 'Polestar', 'Scania', 'Koenigsegg'];

/** A new Car named `name` in `namespace`, with a random brand. */
export function newCar(name: string, namespace = 'default'): CarV1alpha1 {
  const brand = BRANDS[Math.floor(Math.random() * BRANDS.length)] as string;
  return {
    apiVersion: `${CAR_GROUP}/v1alpha1`,
    kind: 'Car',
    metadata: { name, namespace },
    spec: { brand, engine: 'The best one', yearModel: String(1990 + Math.floor(Math.random() * 35)) },
  };
}

/** `status` with a random distance (a whole number, exact in JSON) and speed. */
export function randomMotion(status: CarStatus = {}): CarStatus {
  return {
    ...status,
    distance: Math.floor(Math.random() * Number.MAX_SAFE_INTEGER),
    speed: Math.random() * 100,
  };
}
