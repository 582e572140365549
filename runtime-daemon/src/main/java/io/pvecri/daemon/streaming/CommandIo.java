package io.pvecri.daemon.streaming;

/**
 * The client end of an exec or attach session, whatever the wire protocol: output sinks for
 * the streams the client asked for, input events (stdin, its end, terminal resizes) delivered
 * to an {@link Input}, and the final status. Implemented for SPDY streams and WebSocket channels.
 */
interface CommandIo {
    /** Receives the client's input; called on the connection's event loop. */
    interface Input {
        void stdin(byte[] data);

        void stdinEnd();

        void resize(int cols, int rows);

        /** The connection is gone: stop everything. */
        void disconnected();
    }

    /** The stdout sink, or null when the client did not ask for stdout. */
    Sink stdout();

    /** The stderr sink, or null (never present for a tty). */
    Sink stderr();

    /** Whether the protocol can carry terminal resizes. */
    boolean resizable();

    Conn conn();

    /** Reports the status on the error stream and ends the session (idempotent). */
    void finish(Status status);

    /** Ends the session without a status (daemon shutdown). */
    void abort();
}
