/** Entry: mounts the dashboard, talking to the server that served it. */
import { render } from 'preact';
import { sessionKeyStore } from './api/session.js';
import { App } from './app.js';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) render(<App url={location.origin} keys={sessionKeyStore()} />, root);
