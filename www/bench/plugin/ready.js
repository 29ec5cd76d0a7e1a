// The mount suite's plugin: connect to the host with plugin-warden/client, nothing else.
import { connect } from '/client/index.js';

await connect();
