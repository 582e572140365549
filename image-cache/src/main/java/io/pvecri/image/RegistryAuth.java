package io.pvecri.image;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * Credentials for one pull, as the CRI {@code AuthConfig} carries them (kubelet fills it from
 * imagePullSecrets). They are sent only to the registry the image is pulled from, never to a
 * mirror, and never logged.
 *
 * <ul>
 * <li>{@link Anonymous}: none; bearer-token registries still hand out anonymous tokens.</li>
 * <li>{@link Basic}: user name and password, for basic auth and for the token endpoint.</li>
 * <li>{@link IdentityToken}: an OAuth2 refresh token, exchanged at the token endpoint (POST).</li>
 * <li>{@link RegistryToken}: a bearer token sent to the registry as it is.</li>
 * </ul>
 */
public sealed interface RegistryAuth {

    Anonymous ANONYMOUS = new Anonymous();

    record Anonymous() implements RegistryAuth {
    }

    record Basic(String username, String password) implements RegistryAuth {
        @Override
        public String toString() {
            return "Basic[username=" + username + "]";
        }
    }

    record IdentityToken(String username, String token) implements RegistryAuth {
        @Override
        public String toString() {
            return "IdentityToken[username=" + username + "]";
        }
    }

    record RegistryToken(String token) implements RegistryAuth {
        @Override
        public String toString() {
            return "RegistryToken[...]";
        }
    }

    /**
     * Builds credentials from the fields of a CRI {@code AuthConfig}; empty strings count as
     * absent. Precedence (as containerd): registry token, identity token, user name and password,
     * then {@code auth} (base64 of {@code user:password}).
     *
     * @throws InvalidImageException {@code auth} is not base64 of {@code user:password}
     */
    static RegistryAuth fromCri(String username, String password, String auth, String identityToken,
                                String registryToken) throws InvalidImageException {
        if (present(registryToken)) {
            return new RegistryToken(registryToken);
        }
        if (present(identityToken)) {
            return new IdentityToken(present(username) ? username : "<token>", identityToken);
        }
        if (present(username)) {
            return new Basic(username, password == null ? "" : password);
        }
        if (present(auth)) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.strip()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new InvalidImageException("auth.auth is not valid base64 of user:password");
            }
            int colon = decoded.indexOf(':');
            if (colon <= 0) {
                throw new InvalidImageException("auth.auth does not decode to user:password");
            }
            return new Basic(decoded.substring(0, colon), decoded.substring(colon + 1));
        }
        return ANONYMOUS;
    }

    private static boolean present(String s) {
        return s != null && !s.isEmpty();
    }

    /** The user name, for messages; empty for anonymous and bare tokens. */
    default Optional<String> user() {
        return switch (this) {
            case Basic b -> Optional.of(b.username());
            case IdentityToken t -> Optional.of(t.username());
            default -> Optional.empty();
        };
    }
}
