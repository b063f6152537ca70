/* SPDX-License-Identifier: MIT */
#include <authgate/authgate.h>
#include <stdio.h>

int main(void)
{
    ag_key *k = NULL;
    if (ag_key_generate(AG_ALG_HS256, "k", &k) != AG_OK)
        return 1;
    printf("%s %s\n", ag_alg_name(ag_key_alg(k)), ag_strerror(AG_ERR_EXPIRED));
    ag_key_free(k);
    return 0;
}
