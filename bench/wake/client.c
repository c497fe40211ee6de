#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
int main(int c,char**v){int us=atoi(v[1]);int fd=socket(AF_INET,SOCK_DGRAM,0);struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(40001),.sin_addr.s_addr=htonl(0x7f000001)};bind(fd,(void*)&a,sizeof a);
 a.sin_port=htons(40000);connect(fd,(void*)&a,sizeof a);double s[500];char b[64];
 for(int i=0;i<500;i++){usleep(us);double t=now();*(double*)b=t;send(fd,b,8,0);recv(fd,b,64,0);s[i]=now()-t;}
 for(int i=0;i<500;i++)for(int j=i+1;j<500;j++)if(s[j]<s[i]){double x=s[i];s[i]=s[j];s[j]=x;}
 printf("node echo, interval %d us: p50 %.1f us p99 %.1f us\n",us,s[250],s[495]);return 0;}
