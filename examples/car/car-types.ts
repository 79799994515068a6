/**
 * The Car kind of the Go libgitops samples, `sample-app.weave.works`, in two versions:
 * v1alpha1 (what the files are written in, as in the Go samples) and v1alpha2, which says
 * more about the engine (a name and whether it is electric), to show versioning.
 */
import type { KubeObject, ObjectKey } from '../../src/runtime/index.js';

export const CAR_GROUP = 'sample-app.weave.works';
export const CAR_KIND = 'Car';

export interface CarStatus {
  acceleration?: number;
  /** A bigint when beyond 2^53 (the seed Car's 12176941420362965433). */
  distance?: number | bigint;
  persons?: number;
  speed?: number;
}

export interface CarSpecV1alpha1 {
  brand?: string;
  engine?: string;
  yearModel?: string;
}

export interface CarV1alpha1 extends KubeObject {
  apiVersion: 'sample-app.weave.works/v1alpha1';
  kind: 'Car';
  spec?: CarSpecV1alpha1;
  status?: CarStatus;
}

export interface EngineV1alpha2 {
  name: string;
  electric: boolean;
}

export interface CarSpecV1alpha2 {
  brand?: string;
  engine?: EngineV1alpha2;
  yearModel?: string;
}

export interface CarV1alpha2 extends KubeObject {
  apiVersion: 'sample-app.weave.works/v1alpha2';
  kind: 'Car';
  spec?: CarSpecV1alpha2;
  status?: CarStatus;
}

export type Car = CarV1alpha1 | CarV1alpha2;

/** The key of the Car `name` in `namespace` (the samples use `default`). */
export function carKey(name: string, namespace = 'default'): ObjectKey {
  return { group: CAR_GROUP, kind: CAR_KIND, namespace, name };
}
