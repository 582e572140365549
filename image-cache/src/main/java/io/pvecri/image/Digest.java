package io.pvecri.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** A validated {@code sha256:<64 lowercase hex>} content digest; the only algorithm the store accepts. */
record Digest(String hex) {

    static final String ALGORITHM = "sha256";
    private static final Pattern HEX64 = Pattern.compile("[a-f0-9]{64}");

    Digest {
        if (hex == null || !HEX64.matcher(hex).matches()) {
            throw new IllegalArgumentException("not 64 lowercase hex characters: " + hex);
        }
    }

    /**
     * Parses {@code sha256:<hex>}.
     *
     * @param where names the document the digest came from, for the error message
     */
    static Digest parse(String text, String where) throws InvalidImageException {
        if (text == null) {
            throw new InvalidImageException(where + ": digest is missing");
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new InvalidImageException(where + ": '" + text + "' is not a digest (<algorithm>:<hex>)");
        }
        String alg = text.substring(0, colon);
        if (!alg.equals(ALGORITHM)) {
            throw new InvalidImageException(where + ": digest algorithm '" + alg + "' is not supported (only sha256)");
        }
        String hex = text.substring(colon + 1);
        if (!HEX64.matcher(hex).matches()) {
            throw new InvalidImageException(where + ": '" + text + "' is not a valid sha256 digest");
        }
        return new Digest(hex);
    }

    static boolean isHex64(String s) {
        return s != null && HEX64.matcher(s).matches();
    }

    static Digest of(byte[] content) {
        return new Digest(HexFormat.of().formatHex(sha256().digest(content)));
    }

    static Digest of(MessageDigest finished) {
        return new Digest(HexFormat.of().formatHex(finished.digest()));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return ALGORITHM + ":" + hex;
    }
}
