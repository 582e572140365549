package io.pvecri.daemon.e2e.stream;

/** The server answered the upgrade request with an HTTP error. */
public final class UpgradeFailed extends Exception {
    private final int status;
    private final String body;

    UpgradeFailed(int status, String body) {
        super("HTTP " + status + ": " + body.strip());
        this.status = status;
        this.body = body;
    }

    public int status() {
        return status;
    }

    public String body() {
        return body;
    }
}
