// tf.variableGrads with the same ops in the same order (so bitwise the same
// gradients), but the backward frees as it goes. tfjs's own backward keeps
// every intermediate gradient and every tensor the forward saved for the
// backward until the whole backward ends (engine.gradients: one tidy, saved
// tensors disposed at the end), so its peak is all of the forward's saved
// activations plus all of the backward's gradients at once. Here a node's
// output gradients and saved tensors are released as soon as that node has
// been processed: nothing later on the reversed tape can read them (saved
// tensors are per-node clones; gradient functions read only their node's
// dys and saved tensors).
import { tf } from '../tf.js';

interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The engine members this reaches (present at run time in tfjs 4, not in its types). */
interface TapeEngine {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/**
 * The value of `f` (a scalar) and its gradients w.r.t. the trainable `vars`,
 * keyed by variable name; variables `f` does not depend on get no entry.
 */
export function variableGradsReleasing(
  f: () => tf.Scalar,
  vars: readonly tf.Variable[],
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const engine = tf.engine() as unknown as TapeEngine;
  const xs = vars.filter((v) => v.trainable);
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor) || y.rank !== 0) {
    throw new Error('variableGradsReleasing: f must return a scalar tensor');
  }
  const tape = engine.state.activeTape ?? [];
  const outer = engine.state.gradientDepth === 0; // not inside another gradient
  const grads = engine.tidy('backward', (): Record<string, tf.Tensor> => {
    const byId = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
    // a gradient tensor may be stored under several ids (a gradient function may return dy itself)
    const refs = new Map<tf.Tensor, number>([[byId.get(y.id) as tf.Tensor, 1]]);
    const release = (id: number): void => {
      const g = byId.get(id);
      if (g === undefined) return;
      byId.delete(id);
      const n = (refs.get(g) ?? 1) - 1;
      if (n > 0) refs.set(g, n);
      else {
        refs.delete(g);
        g.dispose();
      }
    };
    const set = (id: number, g: tf.Tensor): void => {
      byId.set(id, g);
      refs.set(g, (refs.get(g) ?? 0) + 1);
    };
    const keep = new Set(xs.map((x) => x.id));
    const nodes = filterTape(tape, xs, y);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i] as TapeNode;
      if (node.gradient == null) {
        throw new Error(
          `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
        );
      }
      const inputGradients = node.gradient(node.outputs.map((o) => byId.get(o.id) ?? null));
      for (const [inputName, x] of Object.entries(node.inputs)) {
        const gradOf = inputGradients[inputName];
        if (gradOf === undefined) {
          throw new Error(`Cannot backprop through input ${inputName} of ${node.kernelName}.`);
        }
        const dx = engine.tidy('grad', gradOf);
        if (dx.dtype !== 'float32' || !tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(
            `Error in gradient for op ${node.kernelName}: input '${inputName}' got ${dx.dtype} ` +
              `[${dx.shape}], expected float32 [${x.shape}]`,
          );
        }
        const cur = byId.get(x.id);
        if (cur === undefined) set(x.id, dx);
        else {
          const sum = tf.add(cur, dx);
          release(x.id);
          set(x.id, sum);
          if (!refs.has(dx)) dx.dispose();
        }
      }
      // this node was the only reader of its outputs' gradients and of its saved tensors
      for (const o of node.outputs) if (!keep.has(o.id)) release(o.id);
      if (outer) for (const t of node.saved ?? []) if (!refs.has(t)) t.dispose();
    }
    const out: Record<string, tf.Tensor> = {};
    for (const x of xs) {
      const g = byId.get(x.id);
      if (g !== undefined) out[x.name] = g;
    }
    return out;
  });
  if (outer) {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
  if (xs.length > 0 && Object.keys(grads).length === 0) {
    y.dispose();
    throw new Error('variableGradsReleasing: the loss does not depend on any of the variables');
  }
  return { value: y as tf.Scalar, grads };
}

/** The tape's nodes on a path from `xs` to `y`, their inputs pruned to those that depend on `xs`. */
function filterTape(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i] as TapeNode;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[k] = t;
    out.push({ ...node, inputs });
  }
  return out;
}
