module cutover/validatord

go 1.19
