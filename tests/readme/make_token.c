/* SPDX-License-Identifier: MIT */
/* Prints a public JWKS on line 1 and an access token signed by its key on
 * line 2, for the README example test. */
#include <stdio.h>
#include <string.h>

#include "authgate/token.h"

int main(void)
{
    ag_key *k = NULL;
    ag_keyring *ring = NULL;
    ag_issuer *is = NULL;
    char *jwks = NULL, tok[AG_TOKEN_MAX_LEN + 1];
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ag_issue_params p = AG_INIT(ag_issue_params);
    if (ag_key_generate(AG_ALG_ES256, NULL, &k) != AG_OK || ag_keyring_new(NULL, &ring) != AG_OK ||
        ag_keyring_add(ring, k) != AG_OK || ag_keyring_to_jwks(ring, &jwks) != AG_OK)
        return 1;
    ic.key = k;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = "https://issuer.example";
    ic.audience = "api.example";
    ic.ttl = 300;
    p.sub = "alice";
    if (ag_issuer_new(&ic, &is) != AG_OK || ag_issue(is, &p, tok, sizeof(tok), NULL) != AG_OK)
        return 1;
    printf("%s\n%s\n", jwks, tok);
    ag_free(jwks);
    ag_issuer_free(is);
    ag_keyring_free(ring);
    ag_key_free(k);
    return 0;
}
