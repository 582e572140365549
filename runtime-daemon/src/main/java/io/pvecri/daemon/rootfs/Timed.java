package io.pvecri.daemon.rootfs;

/**
 * Runs one format operation and tells the {@link RootfsFormat.Observer} how long it took and
 * whether it failed: {@code done(format, op, nanos, null)} after the body returned,
 * {@code done(format, op, nanos, e)} when it threw (the exception is then rethrown). The body
 * gets the start time ({@link System#nanoTime()}) for the {@code ms} of its own log lines.
 */
final class Timed {
    private Timed() {
    }

    /** An operation that gives a result. */
    @FunctionalInterface
    interface Body<T> {
        T run(long t0) throws RootfsException;
    }

    /** An operation without a result. */
    @FunctionalInterface
    interface Action {
        void run(long t0) throws RootfsException;
    }

    static <T> T call(RootfsFormat.Observer observer, String format, String op, Body<T> body) throws RootfsException {
        long t0 = System.nanoTime();
        try {
            T result = body.run(t0);
            observer.done(format, op, System.nanoTime() - t0, null);
            return result;
        } catch (RootfsException e) {
            observer.done(format, op, System.nanoTime() - t0, e);
            throw e;
        }
    }

    static void run(RootfsFormat.Observer observer, String format, String op, Action action) throws RootfsException {
        call(observer, format, op, t0 -> {
            action.run(t0);
            return null;
        });
    }
}
