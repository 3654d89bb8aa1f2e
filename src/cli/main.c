#include "base/base.h"
#include <stdio.h>
int main(void){ printf("jpki\n"); return 0; }
