package io.pvecri.daemon.rootfs;

/**
 * A container root file system could not be made, released or cleaned up. The message names the
 * format, the object (container, image, dataset, file) and the host tool's error.
 */
public final class RootfsException extends Exception {
    /** What the caller can do about it. */
    public enum Reason {
        /** The pool, file system or image file is full. */
        NO_SPACE,
        /** The thing is still in use (an image still has containers). */
        IN_USE,
        /** Anything else: a host tool failed, an I/O error. */
        FAILED
    }

    private final Reason reason;

    public RootfsException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public RootfsException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** NO_SPACE when a tool's error text says the storage is full, else FAILED. */
    static Reason classify(String toolError) {
        String e = toolError.toLowerCase(java.util.Locale.ROOT);
        return e.contains("no space left") || e.contains("out of space") || e.contains("could not allocate block")
                || e.contains("quota exceeded") ? Reason.NO_SPACE : Reason.FAILED;
    }
}
