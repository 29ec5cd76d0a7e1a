export * from './plugin_warden.js';
export { default } from './plugin_warden.js';
