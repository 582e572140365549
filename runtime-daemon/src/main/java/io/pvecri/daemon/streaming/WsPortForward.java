package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.pvecri.daemon.util.Log;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Port-forward over WebSocket (kubelet's {@code v4.channel.k8s.io} framing): one TCP connection
 * per port of the PortForward request, opened at once; port n uses channel 2n for data and 2n+1
 * for errors, and the server first sends the port number (uint16, little endian) on both. The
 * session ends when every connection has ended.
 */
final class WsPortForward implements WsConnection.App {
    private static final Log LOG = Log.get(WsPortForward.class);

    private final WsConnection ws;
    private final List<Forward> forwards = new ArrayList<>();
    private final Runnable onClosed;
    private int running;
    private boolean closed;

    WsPortForward(WsConnection ws, StreamingRuntime.Pod pod, List<Integer> ports, Runnable onClosed) {
        this.ws = ws;
        this.onClosed = onClosed;
        ws.app(this);
        for (int i = 0; i < ports.size(); i++) {
            int port = ports.get(i);
            int dataCh = 2 * i;
            int errCh = 2 * i + 1;
            byte[] prefix = {(byte) port, (byte) (port >> 8)};
            ws.send(dataCh, prefix, 0, 2);
            ws.send(errCh, prefix, 0, 2);
            forwards.add(new Forward(ws.conn, pod, port, new Forward.Client() {
                @Override
                public void data(ByteBuf b) {
                    try {
                        byte[] d = WsConnection.bytes(b);
                        ws.send(dataCh, d, 0, d.length);
                    } finally {
                        b.release();
                    }
                }

                @Override
                public boolean writable() {
                    return ws.conn.ch.isWritable();
                }

                @Override
                public void end() {
                }

                @Override
                public void error(String message) {
                    LOG.info("streaming.portforward_failed", "pod", pod.id(), "port", port, "error", message);
                    byte[] m = message.getBytes(StandardCharsets.UTF_8);
                    ws.send(errCh, m, 0, m.length);
                }
            }, this::forwardDone));
        }
        ws.conn.onWritable(() -> forwards.forEach(Forward::clientWritable));
        running = forwards.size();
        forwards.forEach(Forward::start);
        if (running == 0) {
            ws.close();
        }
    }

    private void forwardDone() {
        if (--running == 0 && !closed) {
            ws.close();
        }
    }

    @Override
    public void data(int channel, ByteBuf data) {
        int i = channel / 2;
        if (channel % 2 == 0 && i < forwards.size()) {
            forwards.get(i).fromClient(data);
        } else {
            data.release();
        }
    }

    @Override
    public void closeSignal(int channel) {
        int i = channel / 2;
        if (channel % 2 == 0 && i < forwards.size()) {
            forwards.get(i).clientEnd();
        }
    }

    @Override
    public void closed() {
        closed = true;
        forwards.forEach(Forward::abort);
        onClosed.run();
    }
}
