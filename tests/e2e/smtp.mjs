// A real SMTP listener for the tests: accepts every message on 127.0.0.1 and keeps it.
import net from 'node:net';

export async function startSmtp() {
  const messages = [];
  // As received (dot-stuffing undone only): base64 parts whose last line ends in '=' padding
  // must not go through the quoted-printable undoing of `messages`.
  const raws = [];
  const waiters = [];
  const server = net.createServer((sock) => {
    sock.setEncoding('utf8');
    sock.write('220 e2e-smtp ESMTP\r\n');
    let buf = '';
    let data = null;
    sock.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') {
            // Undo quoted-printable soft breaks and '=' escapes, enough to read links.
            const raw = data.join('\r\n');
            const text = raw.replace(/=\r\n/g, '').replace(/=3D/g, '=');
            raws.push(raw);
            messages.push(text);
            waiters.splice(0).forEach((w) => w());
            data = null;
            sock.write('250 queued\r\n');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const cmd = line.toUpperCase();
        if (cmd.startsWith('EHLO') || cmd.startsWith('HELO')) sock.write('250 e2e-smtp\r\n');
        else if (cmd.startsWith('DATA')) { data = []; sock.write('354 go on\r\n'); }
        else if (cmd.startsWith('QUIT')) { sock.end('221 bye\r\n'); }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    messages,
    /** Waits for the n-th message (0-based). */
    async message(n, timeout = 15000) {
      const end = Date.now() + timeout;
      while (messages.length <= n) {
        if (Date.now() > end) throw new Error(`no e-mail #${n} within ${timeout} ms`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
      return messages[n];
    },
    /** The n-th message as received (see `raws`), once it is there. */
    async raw(n, timeout = 15000) {
      await this.message(n, timeout);
      return raws[n];
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
