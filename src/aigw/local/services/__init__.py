"""AWS service emulation beyond moto: operations answered by local Python (`providers`), and
the in-process AWS served to other processes (`aws_endpoint`)."""
