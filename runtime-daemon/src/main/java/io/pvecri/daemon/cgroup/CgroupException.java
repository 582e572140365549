package io.pvecri.daemon.cgroup;

/** A cgroup file could not be read or written, or the host's cgroup layout is unusable. */
public final class CgroupException extends Exception {

    public CgroupException(String message) {
        super(message);
    }

    public CgroupException(String message, Throwable cause) {
        super(message, cause);
    }
}
