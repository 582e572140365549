package io.pvecri.proxmox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A PVE API token: the id {@code USER@REALM!TOKENID} and its secret (a UUID). Sent as
 * {@code Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET}.
 *
 * <p>{@link #toString()} never shows the secret; neither does anything else in this module.
 *
 * @param tokenId {@code user@realm!name}, e.g. {@code root@pam!pvecri}
 * @param secret  the token value
 */
public record ApiToken(String tokenId, String secret) {

    // pve-access-control: userid "name@realm", token name [A-Za-z][A-Za-z0-9._-]+ (PVE::AccessControl::pve_verify_tokenid)
    private static final Pattern TOKEN_ID = Pattern.compile("^[^\\s:@/]+@[A-Za-z][A-Za-z0-9._-]*![A-Za-z][A-Za-z0-9._-]+$");

    public ApiToken {
        Objects.requireNonNull(tokenId, "tokenId");
        Objects.requireNonNull(secret, "secret");
        if (!TOKEN_ID.matcher(tokenId).matches()) {
            throw new IllegalArgumentException("tokenId: expected USER@REALM!TOKENID, got '" + tokenId + "'");
        }
        if (secret.isBlank() || secret.chars().anyMatch(c -> c <= ' ' || c == ';' || c == 0x7f)) {
            throw new IllegalArgumentException("secret of token " + tokenId + ": empty or contains whitespace/control characters or ';'");
        }
    }

    /**
     * Reads the secret from a file (surrounding whitespace trimmed). The file holds only the secret.
     *
     * @throws UncheckedIOException if the file cannot be read (the message names the file, never its content)
     */
    public static ApiToken fromFile(String tokenId, Path secretFile) {
        try {
            return new ApiToken(tokenId, Files.readString(secretFile, StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read API token secret file " + secretFile + ": " + e.getMessage(), e);
        }
    }

    /** The {@code Authorization} header value. Do not log it. */
    String headerValue() {
        return "PVEAPIToken=" + tokenId + "=" + secret;
    }

    /** The user part of the token id, e.g. {@code root@pam}. */
    public String user() {
        return tokenId.substring(0, tokenId.indexOf('!'));
    }

    @Override
    public String toString() {
        return "ApiToken[" + tokenId + ", secret=***]";
    }
}
