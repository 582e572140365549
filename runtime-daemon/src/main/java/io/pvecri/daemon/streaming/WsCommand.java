package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;

import java.util.function.Function;

/**
 * An exec or attach session over WebSocket: channel 0 stdin, 1 stdout, 2 stderr, 3 error
 * (status), 4 resize; with v5 the client half-closes stdin with the close signal. As kubelet
 * does, the server first sends an empty message on the lowest channel it writes to.
 */
final class WsCommand implements WsConnection.App, CommandIo {
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final int ERROR = 3;
    static final int RESIZE = 4;

    private final Options opts;
    private final String protocol;
    private final WsConnection ws;
    private final CommandIo.Input input;
    private final ResizeDecoder resize;
    private volatile boolean finished;

    WsCommand(WsConnection ws, Options opts, String protocol, Function<CommandIo, CommandIo.Input> starter) {
        this.ws = ws;
        this.opts = opts;
        this.protocol = protocol;
        ws.app(this);
        ws.send(opts.stdout() ? STDOUT : opts.stderr() ? STDERR : ERROR, new byte[0], 0, 0);
        this.input = starter.apply(this);
        this.resize = new ResizeDecoder(input::resize);
    }

    @Override
    public void data(int channel, ByteBuf data) {
        try {
            if (finished) {
                return;
            }
            if (channel == STDIN && opts.stdin()) {
                input.stdin(WsConnection.bytes(data));
            } else if (channel == RESIZE && opts.tty()) {
                resize.feed(WsConnection.bytes(data));
            }
        } finally {
            data.release();
        }
    }

    @Override
    public void closeSignal(int channel) {
        if (channel == STDIN && opts.stdin() && !finished) {
            input.stdinEnd();
        }
    }

    @Override
    public void closed() {
        input.disconnected();
    }

    @Override
    public Sink stdout() {
        return opts.stdout() ? ws.channel(STDOUT) : null;
    }

    @Override
    public Sink stderr() {
        return opts.stderr() ? ws.channel(STDERR) : null;
    }

    @Override
    public boolean resizable() {
        return opts.tty();
    }

    @Override
    public Conn conn() {
        return ws.conn;
    }

    @Override
    public void finish(Status status) {
        if (finished) {
            return;
        }
        finished = true;
        byte[] payload = Protocols.jsonStatus(protocol) ? status.json() : status.text();
        if (payload.length > 0) {
            ws.send(ERROR, payload, 0, payload.length);
        }
        ws.close();
    }

    @Override
    public void abort() {
        finished = true;
        ws.close();
    }
}
