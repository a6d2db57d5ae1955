/** Burrow's version, reported by the API and stamped on the resources it creates. */
export const BURROW_VERSION = '0.1.0';
