// The scratch Vite app's config: only the test's ports. (A real app needs none of this.)
export default {
  server: { host: '127.0.0.1', strictPort: true },
  preview: { host: '127.0.0.1', strictPort: true },
  logLevel: 'warn',
};
