#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <sys/epoll.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
int main(int c,char**v){int us=atoi(v[1]);int sv[2];socketpair(AF_UNIX,SOCK_DGRAM,0,sv);
 if(fork()==0){int ep=epoll_create1(0);struct epoll_event e={.events=EPOLLIN};epoll_ctl(ep,EPOLL_CTL_ADD,sv[1],&e);char b[64];
  for(;;){epoll_wait(ep,&e,1,-1);int n=read(sv[1],b,64);if(n<=0)_exit(0);write(sv[1],b,n);}}
 double s[500];char b[64];for(int i=0;i<500;i++){usleep(us);double t=now();write(sv[0],b,8);read(sv[0],b,64);s[i]=now()-t;}
 // median
 for(int i=0;i<500;i++)for(int j=i+1;j<500;j++)if(s[j]<s[i]){double x=s[i];s[i]=s[j];s[j]=x;}
 printf("interval %d us: p50 %.1f us p99 %.1f us\n",us,s[250],s[495]);close(sv[0]);return 0;}
