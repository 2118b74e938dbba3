/* entra-sim — placeholder until the simulator lands. */
#include <stdio.h>

int
main(void)
{
    fprintf(stderr, "entra-sim: not implemented yet\n");
    return 1;
}
