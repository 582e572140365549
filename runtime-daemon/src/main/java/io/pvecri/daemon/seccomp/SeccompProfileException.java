package io.pvecri.daemon.seccomp;

/** A Localhost seccomp profile that cannot be read or compiled; the message names the file and the field. */
public final class SeccompProfileException extends Exception {
    SeccompProfileException(String message) {
        super(message);
    }

    SeccompProfileException(String message, Throwable cause) {
        super(message, cause);
    }
}
