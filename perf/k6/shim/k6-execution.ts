// Stand-in for `k6/execution`: the worker sets the iteration number.
const shim = (globalThis as any).__k6shim;

export default {
  get scenario() {
    return {
      name: shim.scenario,
      executor: 'shim',
      startTime: 0,
      progress: 0,
      iterationInInstance: shim.iteration,
      iterationInTest: shim.iteration,
    };
  },
};
