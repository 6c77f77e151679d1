// The tiny task of the threads bench, the same module for docket, piscina and tinypool.
export default (x) => x + 1;
