package io.pvecri.daemon.config;

/** A configuration file or flag that cannot be used; the message names the key and the fix. */
public final class ConfigException extends Exception {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
