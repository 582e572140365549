package io.pvecri.daemon.streaming;

import java.io.IOException;

/** An output stream towards the client: blocking writes with backpressure, and end of data. */
interface Sink {
    void write(byte[] b, int off, int len) throws IOException;

    /** Ends this stream (the client reads EOF). Idempotent. */
    void close();
}
