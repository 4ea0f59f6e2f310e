import { render } from 'preact';
import './app.css';
import { App } from './app.js';
import { DashboardStore } from './store.js';

const store = new DashboardStore();
render(<App store={store} />, document.getElementById('app')!);
void store.start();
