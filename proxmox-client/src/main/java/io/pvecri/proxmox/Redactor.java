package io.pvecri.proxmox;

/**
 * Removes the token secret from any text before it reaches a log line or an exception message. The
 * secret never enters such text by construction; this is the second line of defence (e.g. a proxy or
 * server echoing request headers into an error).
 */
final class Redactor {

    static final String MASK = "***";
    private final String secret;

    Redactor(ApiToken token) {
        this.secret = token.secret();
    }

    String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text.replace(secret, MASK);
        // the header may also show up percent-encoded or with PVE's "PVEAPIToken=id=secret" prefix
        String encoded = FormEncoding.component(secret);
        return encoded.equals(secret) ? out : out.replace(encoded, MASK);
    }
}
