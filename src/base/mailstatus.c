/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Which enhanced mail status codes condemn an address: see bp/mailstatus.h. */
#include <stdio.h>

#include "bp/mailstatus.h"

bool bp_mail_status_bad_address(const char *status)
{
    int cls = 0, subj = -1, det = -1, used = 0;

    if (status == NULL ||
        sscanf(status, "%1d.%3d.%3d%n", &cls, &subj, &det, &used) != 3 ||
        status[0] < '0' || status[0] > '9' ||
        (status[used] >= '0' && status[used] <= '9'))
        return false;
    if (cls != 5)
        return false;
    if (subj == 1)
        return det == 1 || det == 2 || det == 3 || det == 6 || det == 10;
    return subj == 2 && det == 1;
}
