// The coverage journey's silent plugin: connects with plugin-warden/client, then never answers
// the host's pings (its pongs are dropped), as a plugin whose page hung would not.
import { connect } from '/client/index.js';

const post = MessagePort.prototype.postMessage;
MessagePort.prototype.postMessage = function (message, ...rest) {
  return message && message.event === 'pong' ? undefined : post.call(this, message, ...rest);
};
await connect();
