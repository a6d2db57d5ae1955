import { prometheusRoutesSuite } from './prometheus.test-suite.js';

prometheusRoutesSuite('docker');
